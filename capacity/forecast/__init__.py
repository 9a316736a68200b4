"""Forecasting methods, rolling-origin backtests on history (``capacity backtest``) and the children of a run
projected by a scenario's ``method`` (:mod:`capacity.forecast.driver`)."""
