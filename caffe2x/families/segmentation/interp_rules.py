"""Interp's size rule as plain arithmetic (interp_layer.cpp, Reshape), for the checked shape rule
(interp.py) and for the runtimes that size an Interp at run time (dynamic height and width:
interp_torch.py, interp_keras.py, whose model.py copies this file's function; the ONNX emitter
runs it over int64 tensors). Sides may be ints, torch SymInts or integer tensors: only -, //, +
and * are applied, and every operand is >= 0, so // is the fork's integer division."""


def interp_side(side_eff, zoom, shrink, explicit):
    """One output side from the effective (cropped) input side, by the fork's order of rules:
    shrink_factor alone, zoom_factor alone, height and width, both factors (shrink, then zoom);
    None where none applies. Factors are ints or None."""
    if shrink is not None and zoom is None:
        return (side_eff - 1) // shrink + 1
    if zoom is not None and shrink is None:
        return side_eff + (side_eff - 1) * (zoom - 1)
    if explicit is not None:
        return explicit
    if shrink is not None and zoom is not None:
        shrunk = (side_eff - 1) // shrink + 1
        return shrunk + (shrunk - 1) * (zoom - 1)
    return None


def keeps_size(zoom, shrink, explicit) -> bool:
    """Whether the rule that applies always gives the effective input side back (the fork then
    copies the crop): a factor of 1 alone, or both factors 1 with no explicit size."""
    if shrink is not None and zoom is None:
        return shrink == 1
    if zoom is not None and shrink is None:
        return zoom == 1
    return explicit is None and zoom == 1 and shrink == 1
