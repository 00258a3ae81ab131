"""Golden tests per SPL command family: SPL -> AST, SPL -> SQL, SPL -> result table.

Expected result tables are worked by hand from the Splunk Search Reference definitions and
examples (each module cites the pages it follows), never copied from Speleo's output.
"""
