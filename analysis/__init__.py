"""Statistics: effect sizes and pooling, survival reconstruction, survival statistics.

Pure functions and results objects; knows nothing of the evidence files or the pages.
"""
