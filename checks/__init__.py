"""The rule set a finance bureau owns: one module per rule family plus editable data files.

Copy this directory, edit it, and run `xlcheck --checks DIR` to use the copy.
"""
