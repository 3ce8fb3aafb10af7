"""Control: the Controller (events and reward in, motor command out)."""
