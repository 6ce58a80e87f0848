"""The pure core: money, periods, organisations, ledgers, plans, forecasts and positions. No I/O."""
