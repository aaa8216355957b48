"""Pure analysis helpers shared by the detectors: statistics, dates, units, vehicles, geography
and fuel. Nothing here does I/O or reads the wall clock (the gazetteer reads a packaged data
file once, lazily)."""
