"""What is known: the model catalog and the error taxonomy, loaded from bundled YAML."""

from bot.knowledge.catalog import Catalog
from bot.knowledge.load import load_knowledge
from bot.knowledge.taxonomy import Taxonomy

__all__ = ["Catalog", "Taxonomy", "load_knowledge"]
