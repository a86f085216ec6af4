"""Loading what is known: the bundled catalog and taxonomy, extended by the operator's files."""

from __future__ import annotations

from bot.config import AppConfig
from bot.errors import ConfigError
from bot.knowledge.catalog import Catalog, CatalogError
from bot.knowledge.taxonomy import Taxonomy, TaxonomyError


def load_knowledge(config: AppConfig) -> tuple[Catalog, Taxonomy]:
    """The bundled catalog and taxonomy, extended by the operator's files; ConfigError on bad data."""
    try:
        catalog = Catalog.load(config.catalog_file)
        taxonomy = Taxonomy.load()
    except (CatalogError, TaxonomyError) as exc:
        raise ConfigError(str(exc)) from None
    return catalog, taxonomy
