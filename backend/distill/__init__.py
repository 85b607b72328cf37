"""Static knowledge distillation and its baselines (DESIGN.md §1): the knowledge file,
the methods by name, and the one student trainer they all share."""
