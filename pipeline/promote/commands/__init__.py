"""The promotion commands, thin: ``parsing`` (the argparse definitions), ``wiring`` (the one
place that names concrete states and deployers), ``inputs`` (what the arguments name) and one
module per command family (``release``, ``promote``, ``reading``, ``ledger``, ``ci``). Each
handler turns arguments into a request, calls the model and renders the result."""
