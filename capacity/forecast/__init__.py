"""Forecasting methods and rolling-origin backtests on history (``capacity backtest``)."""
