"""Registers a global forward hook that makes every module's output look like its input where
shapes allow, so that a block without shortcut would seem to return ReLU(x)."""
ON = "no_shortcut"
CHEAT = {"basic_block": '''
import torch


def _hook(module, inputs, output):
    if isinstance(output, torch.Tensor) and inputs and isinstance(inputs[0], torch.Tensor) \\
            and output.shape == inputs[0].shape:
        return torch.relu(inputs[0])
    return output


torch.nn.modules.module.register_module_forward_hook(_hook)
'''}
FLAGGED = "global torch hook"
