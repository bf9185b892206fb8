"""The graph's nodes: one function per node, each returning a partial state or a Command."""
