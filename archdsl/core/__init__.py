"""The IR, the layer kinds and the analysis over them: no torch, no lark."""
