"""The synthetic health economy: SYNTHETIC ledgers, plans and risks calibrated to real reference data."""
