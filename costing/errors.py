"""Exceptions of the costing package; each subclasses a builtin so callers may catch broadly."""


class CostingError(ValueError):
    """Bad input to a costing answer (a period, a group, a price, a budget): the user's to fix."""


class BadPeriodError(CostingError):
    """A report period is not one of today|yesterday|week|month|FROM..TO."""


class BadGroupError(CostingError):
    """A report grouping is not one of command|channel|model|task|day."""


class PriceKeyError(CostingError):
    """A price key is unknown or its value has the wrong form."""


class BudgetError(CostingError):
    """A budget scope or limit is invalid."""


class CurrencyMixError(CostingError):
    """A report would sum amounts in two currencies under one label."""
