"""Exceptions of the costing package; each subclasses a builtin so callers may catch broadly."""


class BadPeriodError(ValueError):
    """A report period is not one of today|yesterday|week|month|FROM..TO."""


class BadGroupError(ValueError):
    """A report grouping is not one of command|channel|model|task|day."""


class PriceKeyError(ValueError):
    """A price key is unknown or its value has the wrong form."""


class BudgetError(ValueError):
    """A budget scope or limit is invalid."""
