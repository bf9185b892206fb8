"""agentshop: the command line that composes the packages (commerce, bff, assistant, ui,
loadtests, evals). The top of the layers: nothing below imports it."""
