"""`python -m speleo.forward --to URL ...`: `speleo forward` without the rest of the command line.

`speleo forward` runs itself this way (see `speleo.cli.forward_cmds`): only click, the forwarder
and the standard library are loaded, not the search language nor pyarrow.
"""

from speleo.cli.forward_cmds import forward

if __name__ == "__main__":
    forward(prog_name="speleo forward")
