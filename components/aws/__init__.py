"""The blueprint on AWS. Importing the package imports nothing: ``assemble`` wires the roles
for one stage (it and the role modules import the SDK), ``substrate`` registers the substrate,
and the tables the offline tools read (``bindings``, ``mocks``) load without it."""
