"""The face of costbot: the command line, the composed settings, process wiring, the demo and
the one scheduler. It sits above the four floors (bot → models → costing → storage) and is the
only place that reads the configuration; everything below receives the section it needs.
"""
