"""What an analysed network becomes: tables (report), diagrams (render),
PyTorch modules (torch) and ONNX files (onnx). Backends import the core,
never each other's internals."""
