raise RuntimeError("this module is broken")
# <<base>>
