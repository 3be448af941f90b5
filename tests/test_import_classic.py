"""archdsl import of the classic text formats: Caffe prototxts and Darknet cfgs.

The files are written here by hand from the formats' documentation and from
the published model-zoo files (bvlc_alexnet and bvlc_googlenet deploy
prototxts, Darknet's yolov3-tiny.cfg); nothing is downloaded. The imported
specs must give the gallery's figures where the gallery has the network
(specs/alexnet.arch, specs/yolov3_tiny.arch): every layer's output shape,
parameters and MACs. Bad input is a positioned archdsl error and exit 1."""
from __future__ import annotations

import pytest

import archdsl
from archdsl.errors import ArchError
from archdsl.importers import import_caffe, import_darknet
from archdsl.importers.caffe_reader import parse_prototxt

from .conftest import SPECS


def figures(net, skip=()) -> tuple:
    """The totals, and every layer's (output shape, params, MACs) in order, less the ops in `skip`."""
    t = net.totals
    layers = [(tuple(layer.output_shape), layer.params, layer.macs) for layer in net.layers
              if layer.op not in skip]
    return (t.params, t.buffers, t.macs), layers


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


# -- Caffe: the text format ------------------------------------------------------------------------

def test_the_prototxt_parser_reads_protobuf_text_format():
    msg = parse_prototxt('''
        name: 'tiny'   # a comment
        layer { name: "a" type: "Pooling" pooling_param: { pool: MAX kernel_size: 3 } }
        layer < name: "b", dim: [1, 3, 8, 8]; ratio: 1e-4 >
    ''', "t.prototxt")
    assert msg.word("name") == "tiny"
    a, b = (f.value for f in msg.all("layer"))
    assert a.message("pooling_param").word("pool") == "MAX"
    assert a.message("pooling_param").number("kernel_size") == 3
    assert b.numbers("dim") == [1, 3, 8, 8] and b.number("ratio", kind=float) == 1e-4
    assert b.first("ratio").span.line == 4


# -- Caffe: small nets from the documentation ------------------------------------------------------

# Old-style input (input + input_dim), kernel_h/kernel_w, BatchNorm + Scale, in-place ReLU, an Eltwise
# residual, global average pooling, and an InnerProduct that flattens.
SMALL_RESNET = '''
name: "SmallRes"
input: "data"
input_dim: 1
input_dim: 3
input_dim: 32
input_dim: 32
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 16 kernel_size: 3 pad: 1 bias_term: false } }
layer { name: "bn1" type: "BatchNorm" bottom: "conv1" top: "conv1" }
layer { name: "scale1" type: "Scale" bottom: "conv1" top: "conv1" scale_param { bias_term: true } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "res/conv_a" type: "Convolution" bottom: "conv1" top: "res/a"
        convolution_param { num_output: 16 kernel_h: 3 kernel_w: 3 pad_h: 1 pad_w: 1 bias_term: false } }
layer { name: "res/bn_a" type: "BatchNorm" bottom: "res/a" top: "res/a" batch_norm_param { eps: 0.001 } }
layer { name: "res/scale_a" type: "Scale" bottom: "res/a" top: "res/a" scale_param { bias_term: true } }
layer { name: "res/sum" type: "Eltwise" bottom: "conv1" bottom: "res/a" top: "res/sum"
        eltwise_param { operation: SUM } }
layer { name: "res/relu" type: "ReLU" bottom: "res/sum" top: "res/sum" }
layer { name: "pool" type: "Pooling" bottom: "res/sum" top: "pool"
        pooling_param { pool: AVE global_pooling: true } }
layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc" inner_product_param { num_output: 10 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
'''


def test_a_small_caffe_net_with_batchnorm_scale_and_a_residual(tmp_path):
    result = import_caffe(write(tmp_path, "small.prototxt", SMALL_RESNET))
    text = result.text
    assert "conv 16 k=3 p=1 bias=false; bn; relu" in text
    assert "residual {" in text and "bn eps=0.001" in text
    assert "gap; flatten" in text and "fc 10; softmax" in text
    net = archdsl.loads(text)
    # conv1 432 + bn 32, conv_a 2304 + bn 32, fc 16 * 10 + 10
    assert net.totals.params == 432 + 32 + 2304 + 32 + 170
    assert net.totals.buffers == 64
    assert tuple(net.layers[-1].output_shape) == (10,)


def test_caffe_pools_round_up():
    # pooling_layer.cpp: ceil((8 - 3) / 2) + 1 = 4 where floor gives 3; padded, the last window is dropped
    # when it would start in the padding: ceil((7 + 2 - 3) / 2) + 1 = 4, and 3 * 2 >= 7 + 1 does not drop it.
    text = '''
input: "data"
input_shape { dim: 1 dim: 8 dim: 8 dim: 8 }
layer { name: "p1" type: "Pooling" bottom: "data" top: "p1" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "p2" type: "Pooling" bottom: "p1" top: "p2"
        pooling_param { pool: AVE kernel_size: 3 stride: 1 pad: 1 } }
'''
    from archdsl.importers.caffe_reader import read_caffe_text
    model = read_caffe_text(text, "p.prototxt")
    assert [layer.shape for layer in model.layers[1:]] == [(8, 4, 4), (8, 4, 4)]
    assert model.layers[1].text() == "maxpool k=3 s=2 round=caffe"
    assert model.layers[2].text() == "avgpool k=3 s=1 p=1"  # stride 1: no rounding to speak of


# -- Caffe: the model zoo's AlexNet and GoogLeNet --------------------------------------------------

def _caffe_layer(name, kind, bottom, top, param=""):
    return f'layer {{\n  name: "{name}"\n  type: "{kind}"\n  bottom: "{bottom}"\n  top: "{top}"\n{param}}}\n'


def _conv(name, bottom, top, n, k, s=1, p=0, g=1):
    extra = "".join(f"    {key}: {v}\n" for key, v, default in (("pad", p, 0), ("stride", s, 1), ("group", g, 1))
                    if v != default)
    param = ("  param {\n    lr_mult: 1\n    decay_mult: 1\n  }\n  param {\n    lr_mult: 2\n    decay_mult: 0\n  }\n"
             f"  convolution_param {{\n    num_output: {n}\n{extra}    kernel_size: {k}\n  }}\n")
    return _caffe_layer(name, "Convolution", bottom, top, param)


def _relu(name, blob):
    return _caffe_layer(name, "ReLU", blob, blob)


def _pool(name, bottom, top, mode, k, s, p=0):
    pad = f"    pad: {p}\n" if p else ""
    return _caffe_layer(name, "Pooling", bottom, top,
                        f"  pooling_param {{\n    pool: {mode}\n    kernel_size: {k}\n    stride: {s}\n{pad}  }}\n")


def _lrn(name, bottom, top):
    return _caffe_layer(name, "LRN", bottom, top,
                        "  lrn_param {\n    local_size: 5\n    alpha: 0.0001\n    beta: 0.75\n  }\n")


def _fc(name, bottom, top, n):
    return _caffe_layer(name, "InnerProduct", bottom, top, f"  inner_product_param {{\n    num_output: {n}\n  }}\n")


def _dropout(name, blob, ratio):
    return _caffe_layer(name, "Dropout", blob, blob, f"  dropout_param {{\n    dropout_ratio: {ratio}\n  }}\n")


def _input(size):
    return ('layer {\n  name: "data"\n  type: "Input"\n  top: "data"\n'
            f'  input_param {{ shape: {{ dim: 10 dim: 3 dim: {size} dim: {size} }} }}\n}}\n')


# bvlc_alexnet/deploy.prototxt: the two-tower AlexNet (group 2 on conv2, conv4, conv5), LRN after the ReLU.
ALEXNET = ('name: "AlexNet"\n' + _input(227)
           + _conv("conv1", "data", "conv1", 96, 11, s=4) + _relu("relu1", "conv1") + _lrn("norm1", "conv1", "norm1")
           + _pool("pool1", "norm1", "pool1", "MAX", 3, 2)
           + _conv("conv2", "pool1", "conv2", 256, 5, p=2, g=2) + _relu("relu2", "conv2")
           + _lrn("norm2", "conv2", "norm2") + _pool("pool2", "norm2", "pool2", "MAX", 3, 2)
           + _conv("conv3", "pool2", "conv3", 384, 3, p=1) + _relu("relu3", "conv3")
           + _conv("conv4", "conv3", "conv4", 384, 3, p=1, g=2) + _relu("relu4", "conv4")
           + _conv("conv5", "conv4", "conv5", 256, 3, p=1, g=2) + _relu("relu5", "conv5")
           + _pool("pool5", "conv5", "pool5", "MAX", 3, 2)
           + _fc("fc6", "pool5", "fc6", 4096) + _relu("relu6", "fc6") + _dropout("drop6", "fc6", 0.5)
           + _fc("fc7", "fc6", "fc7", 4096) + _relu("relu7", "fc7") + _dropout("drop7", "fc7", 0.5)
           + _fc("fc8", "fc7", "fc8", 1000)
           + 'layer {\n  name: "prob"\n  type: "Softmax"\n  bottom: "fc8"\n  top: "prob"\n}\n')


def test_caffe_alexnet_has_the_gallery_figures(tmp_path):
    result = import_caffe(write(tmp_path, "deploy.prototxt", ALEXNET))
    net = archdsl.loads(result.text)
    assert net.totals.params == 60_965_224
    assert "conv 256 k=5 p=2 g=2; relu" in result.text and "lrn 5" in result.text
    # The gallery's AlexNet is the one-tower paper version with LRN k=2: give it Caffe's two towers and
    # Caffe's k=1, and every layer must agree.
    gallery = (SPECS / "alexnet.arch").read_text()
    for conv in ("conv 256 k=5 p=2", "conv4: conv 384 k=3 p=1", "conv5: conv 256 k=3 p=1"):
        assert conv in gallery
        gallery = gallery.replace(conv, conv + " g=2")
    gallery = gallery.replace("beta=0.75 k=2", "beta=0.75 k=1")
    assert figures(net) == figures(archdsl.loads(gallery))
    assert figures(archdsl.load(SPECS / "alexnet.arch"))[0][0] == 62_378_344  # one tower


def _inception(stage, bottom, c1, c3r, c3, c5r, c5, pp):
    i = f"inception_{stage}"
    text = _conv(f"{i}/1x1", bottom, f"{i}/1x1", c1, 1) + _relu(f"{i}/relu_1x1", f"{i}/1x1")
    text += _conv(f"{i}/3x3_reduce", bottom, f"{i}/3x3_reduce", c3r, 1)
    text += _relu(f"{i}/relu_3x3_reduce", f"{i}/3x3_reduce")
    text += _conv(f"{i}/3x3", f"{i}/3x3_reduce", f"{i}/3x3", c3, 3, p=1) + _relu(f"{i}/relu_3x3", f"{i}/3x3")
    text += _conv(f"{i}/5x5_reduce", bottom, f"{i}/5x5_reduce", c5r, 1)
    text += _relu(f"{i}/relu_5x5_reduce", f"{i}/5x5_reduce")
    text += _conv(f"{i}/5x5", f"{i}/5x5_reduce", f"{i}/5x5", c5, 5, p=2) + _relu(f"{i}/relu_5x5", f"{i}/5x5")
    text += _pool(f"{i}/pool", bottom, f"{i}/pool", "MAX", 3, 1, p=1)
    text += _conv(f"{i}/pool_proj", f"{i}/pool", f"{i}/pool_proj", pp, 1)
    text += _relu(f"{i}/relu_pool_proj", f"{i}/pool_proj")
    bottoms = "".join(f'  bottom: "{i}/{b}"\n' for b in ("1x1", "3x3", "5x5", "pool_proj"))
    return text + f'layer {{\n  name: "{i}/output"\n  type: "Concat"\n{bottoms}  top: "{i}/output"\n}}\n'


# bvlc_googlenet/deploy.prototxt (no auxiliary heads): Table 1 of the paper, Caffe's true 5x5 convolutions.
INCEPTIONS = [("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64), ("4a", 192, 96, 208, 16, 48, 64),
              ("4b", 160, 112, 224, 24, 64, 64), ("4c", 128, 128, 256, 24, 64, 64), ("4d", 112, 144, 288, 32, 64, 64),
              ("4e", 256, 160, 320, 32, 128, 128), ("5a", 256, 160, 320, 32, 128, 128),
              ("5b", 384, 192, 384, 48, 128, 128)]


def _googlenet() -> str:
    t = 'name: "GoogleNet"\n' + _input(224)
    t += _conv("conv1/7x7_s2", "data", "conv1/7x7_s2", 64, 7, s=2, p=3) + _relu("conv1/relu_7x7", "conv1/7x7_s2")
    t += _pool("pool1/3x3_s2", "conv1/7x7_s2", "pool1/3x3_s2", "MAX", 3, 2) + _lrn("pool1/norm1", "pool1/3x3_s2",
                                                                                  "pool1/norm1")
    t += _conv("conv2/3x3_reduce", "pool1/norm1", "conv2/3x3_reduce", 64, 1)
    t += _relu("conv2/relu_3x3_reduce", "conv2/3x3_reduce")
    t += _conv("conv2/3x3", "conv2/3x3_reduce", "conv2/3x3", 192, 3, p=1) + _relu("conv2/relu_3x3", "conv2/3x3")
    t += _lrn("conv2/norm2", "conv2/3x3", "conv2/norm2") + _pool("pool2/3x3_s2", "conv2/norm2", "pool2/3x3_s2",
                                                                 "MAX", 3, 2)
    bottom = "pool2/3x3_s2"
    for stage, *channels in INCEPTIONS:
        t += _inception(stage, bottom, *channels)
        bottom = f"inception_{stage}/output"
        if stage in ("3b", "4e"):
            pool = f"pool{stage[0]}/3x3_s2"
            t += _pool(pool, bottom, pool, "MAX", 3, 2)
            bottom = pool
    t += _pool("pool5/7x7_s1", bottom, "pool5/7x7_s1", "AVE", 7, 1) + _dropout("pool5/drop_7x7_s1", "pool5/7x7_s1",
                                                                               0.4)
    t += _fc("loss3/classifier", "pool5/7x7_s1", "loss3/classifier", 1000)
    return t + 'layer {\n  name: "prob"\n  type: "Softmax"\n  bottom: "loss3/classifier"\n  top: "prob"\n}\n'


def _googlenet_params() -> int:
    """Counted from the paper's table, apart from the importer: every conv k*k*in*out + out."""
    def conv(c_in, c_out, k):
        return k * k * c_in * c_out + c_out
    total = conv(3, 64, 7) + conv(64, 64, 1) + conv(64, 192, 3)
    c_in = 192
    for _, c1, c3r, c3, c5r, c5, pp in INCEPTIONS:
        total += conv(c_in, c1, 1) + conv(c_in, c3r, 1) + conv(c3r, c3, 3) + conv(c_in, c5r, 1) + conv(c5r, c5, 5) \
            + conv(c_in, pp, 1)
        c_in = c1 + c3 + c5 + pp
    return total + c_in * 1000 + 1000


def test_caffe_googlenet_folds_its_inception_modules(tmp_path):
    result = import_caffe(write(tmp_path, "deploy.prototxt", _googlenet()))
    assert result.folded and "block Inception(" in result.text
    assert result.text.count("Inception(") == 1 + len(INCEPTIONS)
    assert "Inception(64, 96, 128, 16, 32, 32)" in result.text
    assert len(result.text.splitlines()) < 50
    net = archdsl.loads(result.text)
    assert net.totals.params == _googlenet_params() == 6_998_552
    # The gallery's GoogLeNet is torchvision's (BN, "5x5" as 3x3), but its modules give the same maps.
    ours = [tuple(layer.output_shape) for layer in net.layers if layer.op in ("concat", "maxpool", "avgpool")]
    gallery = archdsl.load(SPECS / "googlenet.arch")
    theirs = [tuple(layer.output_shape) for layer in gallery.layers if layer.op in ("concat", "maxpool")]
    assert ours[:-1] == theirs and ours[-1] == (1024, 1, 1)


# -- Darknet ---------------------------------------------------------------------------------------

def _cfg_conv(filters, size, stride=1, bn=True, activation="leaky"):
    return ("[convolutional]\n" + ("batch_normalize=1\n" if bn else "")
            + f"filters={filters}\nsize={size}\nstride={stride}\npad=1\nactivation={activation}\n\n")


def _cfg_yolo(mask):
    return (f"[yolo]\nmask = {mask}\nanchors = 10,14,  23,27,  37,58,  81,82,  135,169,  344,319\nclasses=80\n"
            "num=6\njitter=.3\nignore_thresh = .7\ntruth_thresh = 1\nrandom=1\n\n")


# Darknet's cfg/yolov3-tiny.cfg, layer by layer (0-15, the coarse yolo 16, then 17-23).
YOLOV3_TINY = ("[net]\n# Testing\nbatch=1\nsubdivisions=1\n# Training\n# batch=64\n# subdivisions=2\n"
               "width=416\nheight=416\nchannels=3\nmomentum=0.9\ndecay=0.0005\nangle=0\nsaturation = 1.5\n"
               "exposure = 1.5\nhue=.1\n\nlearning_rate=0.001\nburn_in=1000\nmax_batches = 500200\npolicy=steps\n"
               "steps=400000,450000\nscales=.1,.1\n\n"
               + "".join(_cfg_conv(f, 3) + "[maxpool]\nsize=2\nstride=2\n\n" for f in (16, 32, 64, 128, 256))
               + _cfg_conv(512, 3) + "[maxpool]\nsize=2\nstride=1\n\n" + _cfg_conv(1024, 3) + "###########\n\n"
               + _cfg_conv(256, 1) + _cfg_conv(512, 3) + _cfg_conv(255, 1, bn=False, activation="linear")
               + _cfg_yolo("3,4,5") + "[route]\nlayers = -4\n\n" + _cfg_conv(128, 1) + "[upsample]\nstride=2\n\n"
               + "[route]\nlayers = -1, 8\n\n" + _cfg_conv(256, 3) + _cfg_conv(255, 1, bn=False, activation="linear")
               + _cfg_yolo("0,1,2"))


def test_yolov3_tiny_has_the_gallery_figures(tmp_path):
    result = import_darknet(write(tmp_path, "yolov3-tiny.cfg", YOLOV3_TINY))
    assert "maxpool k=2 s=1 p=same" in result.text  # Darknet's size-keeping pool: extra pixel right/bottom
    assert "output yolo16" in result.text and "output yolo23" in result.text
    net = archdsl.loads(result.text)
    gallery = archdsl.load(SPECS / "yolov3_tiny.arch")
    assert net.totals.params == 8_852_366
    # The gallery leaves the stride-1 pool out (it changes no shape, parameter or MAC); the rest agree,
    # written in another valid order.
    kept = [layer for layer in net.layers if not (layer.op == "maxpool" and "s1" in layer.hyper)]
    assert len(kept) == len(net.layers) - 1
    ours = sorted((tuple(layer.output_shape), layer.params, layer.macs) for layer in kept)
    theirs = sorted((tuple(layer.output_shape), layer.params, layer.macs) for layer in gallery.layers)
    assert ours == theirs
    assert figures(net)[0] == figures(gallery)[0]


def test_yolov3_tiny_from_the_command_line(tmp_path, cli):
    cfg = write(tmp_path, "yolov3-tiny.cfg", YOLOV3_TINY)
    code, _, err = cli("import", cfg, "-o", tmp_path / "yolo.arch")
    assert code == 0 and "8,852,366 parameters" in err
    code, out, _ = cli("check", tmp_path / "yolo.arch")
    assert code == 0 and "yolo16 255x13x13" in out and "yolo23 255x26x26" in out
    code, out, _ = cli("import", cfg, "--input", "3x320x320", "--no-fold")
    assert code == 0 and "input 3x320x320" in out and "block" not in out


def test_darknet_shortcut_route_and_pools(tmp_path):
    cfg = ("[net]\nwidth=15\nheight=15\nchannels=3\n\n" + _cfg_conv(8, 3)                   # 0
           + _cfg_conv(4, 1) + _cfg_conv(8, 3)                                             # 1, 2
           + "[shortcut]\nfrom=-3\nactivation=linear\n\n"                                  # 3: add 2 and 0
           + "[maxpool]\nsize=2\nstride=2\n\n"                                            # 4: 15 -> 8
           + "[maxpool]\nsize=3\nstride=1\n\n"                                            # 5: keeps 8
           + "[route]\nlayers=-1,4\n\n"                                                    # 6: concat 5, 4
           + "[route]\nlayers=-1\n\n"                                                      # 7: 6 again
           + "[avgpool]\n\n[connected]\noutput=10\nactivation=linear\n\n[softmax]\n")
    result = import_darknet(write(tmp_path, "small.cfg", cfg))
    text = result.text
    assert "residual {" in text and "maxpool k=2 p=same" in text and "maxpool k=3 s=1 p=1" in text
    net = archdsl.loads(text)
    shapes = {layer.op: tuple(layer.output_shape) for layer in net.layers}
    assert shapes["add"] == (8, 15, 15) and shapes["concat"] == (16, 8, 8)
    assert tuple(net.layers[-1].output_shape) == (10,)
    # conv 8: 216 + 16, conv 4: 32 + 8, conv 8: 288 + 16, fc 16 -> 10: 170
    assert net.totals.params == 216 + 16 + 32 + 8 + 288 + 16 + 170


# -- mistakes --------------------------------------------------------------------------------------

def _position(text: str, marker: str) -> tuple[int, int]:
    """(line, col) of the first `marker` in `text`, 1-based."""
    before = text[:text.index(marker)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


_DATA = 'input: "data"\ninput_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\n'


@pytest.mark.parametrize("text, marker, words", [
    ('layer { name: "a" type: "ReLU" bottom: "data" top: "a"', "layer", "never closed"),
    (_DATA + 'layer { name: "x" type: "Crop" bottom: "data" top: "x" }', '"Crop"', "Crop has no .arch equivalent"),
    (_DATA + 'layer { name: "x" type: "ReLU" bottom: "dta" top: "x" }', '"dta"', "no layer before it writes"),
    (_DATA + 'layer { name: "s" type: "Scale" bottom: "data" top: "s" }', '"Scale"', "does not follow a BatchNorm"),
    (_DATA + 'layer { name: "c" type: "Convolution" bottom: "data" top: "c"\n'
             '        convolution_param { num_output: 4 kernel_size: 3 group: 2 } }', '"Convolution"',
     "group 2 does not divide"),
    (_DATA + 'layer { name: "c" type: "Convolution" bottom: "data" top: "c"\n'
             '        convolution_param { num_output: 4.5 kernel_size: 3 } }', "4.5", "whole number"),
    ('layer { name: "d" type: "Data" top: "data" }', '"Data"', "for training"),
    ('name = "x"', "=", "unexpected character"),
    ('name: "empty"', "name", "declares no input"),
])
def test_bad_prototxts_are_positioned_errors(tmp_path, text, marker, words):
    path = write(tmp_path, "bad.prototxt", text)
    with pytest.raises(ArchError) as info:
        import_caffe(path)
    assert (info.value.line, info.value.col) == _position(text, marker) and words in info.value.message
    assert info.value.file == str(path)


@pytest.mark.parametrize("text, line, words", [
    ("width=8\n", 1, "before any [section]"),
    ("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=8\nsize=3\n[lstm]\n", 8, "[lstm]"),
    ("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=8\n[route]\nlayers=-3\n", 8, "does not come"),
    ("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=eight\n", 6, "whole number"),
    ("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nactivation=mish\n", 6, "mish"),
    ("[net]\nwidth=8\nheight=8\nchannels=3\nthis is not an option\n", 5, "neither a [section]"),
])
def test_bad_cfgs_are_positioned_errors(tmp_path, text, line, words):
    path = write(tmp_path, "bad.cfg", text)
    with pytest.raises(ArchError) as info:
        import_darknet(path)
    assert info.value.line == line and words in info.value.message


def test_the_command_line_reports_mistakes_without_a_traceback(tmp_path, cli):
    bad = write(tmp_path, "bad.prototxt", 'layer { name: "a" type: "Crop" bottom: "x" top: "y" }')
    code, out, err = cli("import", bad)
    assert code == 1 and out == ""
    assert f"{bad}:1:25: error:" in err and "Traceback" not in err and "hint:" in err
    code, _, err = cli("import", write(tmp_path, "bad.cfg", "[net]\nwidth=8\n[maxpool]\nsize=9\nstride=1\npadding=0\n"))
    assert code == 1 and "bad.cfg:" in err and "Traceback" not in err
    assert cli("import", tmp_path / "missing.prototxt")[0] == 2
    assert cli("import", tmp_path / "missing.cfg")[0] == 2
    code, _, err = cli("import", write(tmp_path, "ok.cfg", YOLOV3_TINY), "--allow-opaque")
    assert code == 2 and "ONNX" in err
