"""From evidence to a cause: pasted errors, probe failures and check results diagnosed."""

from bot.diagnosis.check import diagnose
from bot.diagnosis.classify import Classifier

__all__ = ["Classifier", "diagnose"]
