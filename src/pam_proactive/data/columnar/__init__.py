"""Column-wise assembly of a batch's contexts (pure: frames in, sections out)."""
