"""ONNX export and verification (imports torch, onnx and onnxruntime lazily)."""
