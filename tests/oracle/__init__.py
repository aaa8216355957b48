"""Reference implementations the tests compare the product with (not part of it)."""
