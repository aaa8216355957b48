"""Jobs: the sweep and (later) its schedulers. The only layer that reads the wall clock."""
