"""The train { ... } section: what it means, how its mistakes are reported
(in full, as the tool prints them), the summary `archdsl check` shows, and
the command line's overrides. None of this needs torch."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import archdsl
from archdsl.train.config import SETTINGS, BadOverride, TrainConfig, apply_overrides
from archdsl.train.section import read_config, summary_lines

NET = "network N {\n  input 1x8x8\n  conv 8 k=3; relu; flatten; fc 10; softmax\n}\n"


def config_of(body: str) -> TrainConfig:
    body = textwrap.indent(textwrap.dedent(body), "  ")
    return read_config(archdsl.loads(NET + "train {\n" + body + "}\n", "t.arch"))


def errors_of(body: str) -> str:
    with pytest.raises(archdsl.ArchError) as info:
        config_of(body)
    return info.value.format()


def test_no_section_gives_the_defaults():
    config = read_config(archdsl.loads(NET))
    assert config == TrainConfig()
    assert config.optimizer == {"name": "adam", "lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                                "weight_decay": 0.0}
    assert (config.batch, config.epochs, config.seed, config.validation) == (64, 10, 0, 0.2)
    assert config.early_stop is None and config.clip is None


def test_the_lecture_trainer_reads_as_written():
    config = config_of("""\
        optimizer sgd lr=0.01 momentum=0.9 weight_decay=5e-4; batch 128; epochs 90
        schedule plateau factor=0.1 patience=5; early_stop patience=10
        loss crossentropy label_smoothing=0.1
        """)
    assert config.optimizer == {"name": "sgd", "lr": 0.01, "momentum": 0.9, "nesterov": False,
                                "weight_decay": 5e-4}
    assert config.schedule == {"name": "plateau", "factor": 0.1, "patience": 5, "min_lr": 0.0,
                               "monitor": "val_loss"}
    assert config.early_stop == {"patience": 10, "min_delta": 0.0, "monitor": "val_loss"}
    assert config.loss == {"name": "crossentropy", "label_smoothing": 0.1}
    assert (config.batch, config.epochs) == (128, 90)


def test_every_setting_and_shorthand():
    config = config_of("""\
        optimizer adamw lr=3e-4 betas=(0.9, 0.95) weight_decay=0.05
        schedule cosine warmup=2 min_lr=1e-5
        early_stop 4
        clip 1.5
        augment crop=4 flip=true
        seed 7; validation 0.1
        """)
    assert config.optimizer["betas"] == (0.9, 0.95)
    assert config.schedule == {"name": "cosine", "warmup": 2, "min_lr": 1e-5}
    assert config.early_stop["patience"] == 4
    assert config.clip == {"norm": 1.5}
    assert config.augment == {"crop": 4, "flip": True}
    assert (config.seed, config.validation) == (7, 0.1)
    assert config.spans["optimizer.lr"].line == 6


def test_arithmetic_in_values():
    config = config_of("batch 2*64\noptimizer sgd lr=0.1/2\n")
    assert (config.batch, config.optimizer["lr"]) == (128, 0.05)


def test_mistakes_are_all_reported_in_order():
    text = errors_of("""\
        optimizer sgd lr=-0.01 momentun=0.9
        batch 12.5; epocs 90
        schedule plateu factor=0.1
        early_stop patience=10 monitor=val_accuracy
        optimizer adam
        clip
        """)
    assert text == textwrap.dedent("""\
        t.arch:6:20: error: lr must be greater than 0, got -0.01
         6 |   optimizer sgd lr=-0.01 momentun=0.9
           |                    ^^^^^
        t.arch:6:26: error: unknown key 'momentun' for optimizer sgd
         6 |   optimizer sgd lr=-0.01 momentun=0.9
           |                          ^^^^^^^^
        hint: did you mean 'momentum'? optimizer sgd takes: lr, momentum, nesterov, weight_decay
        t.arch:7:9: error: batch must be a whole number, got 12.5
         7 |   batch 12.5; epocs 90
           |         ^^^^
        t.arch:7:15: error: unknown training setting 'epocs'
         7 |   batch 12.5; epocs 90
           |               ^^^^^
        hint: did you mean 'epochs'? the settings are: {SETTINGS}
        t.arch:8:12: error: unknown schedule 'plateu'
         8 |   schedule plateu factor=0.1
           |            ^^^^^^
        hint: did you mean 'plateau'? the choices are: none, step, cosine, plateau
        t.arch:9:34: error: monitor must be val_loss or val_acc, got 'val_accuracy'
         9 |   early_stop patience=10 monitor=val_accuracy
           |                                  ^^^^^^^^^^^^
        hint: did you mean 'val_acc'?
        t.arch:10:3: error: optimizer is given twice
         10 |   optimizer adam
            |   ^^^^^^^^^^^^^^
            = first given at t.arch:6:3
        hint: keep one optimizer line
        t.arch:11:3: error: clip needs norm (largest gradient norm)
         11 |   clip
            |   ^^^^
        hint: for example `clip 5`""").format(SETTINGS=", ".join(SETTINGS))


@pytest.mark.parametrize("body, message, hint", [
    ("optimizer adma\n", "unknown optimizer 'adma'", "did you mean 'adam'? the choices are: sgd, adam, adamw"),
    ("optimizer adam momentum=0.9\n", "unknown key 'momentum' for optimizer adam",
     "momentum is a setting of sgd; adam takes: lr, betas, eps, weight_decay"),
    ("optimizer lr=0.1\n", "optimizer needs a kind", "one of: sgd, adam, adamw; for example "
     "`optimizer sgd lr=0.01 momentum=0.9`"),
    ("optimizer 0.1\n", "optimizer needs a kind first, got 0.1", None),
    ("batch\n", "batch needs a value", "for example `batch 128`"),
    ("batch 0\n", "batch must be at least 1, got 0", None),
    ("batch 32 64\n", "batch takes one value", None),
    ("batch size=3\n", "batch takes no keys", "write `batch 128`"),
    ("epochs lots\n", "epochs must be a whole number, got 'lots'", None),
    ("augment flip=1\n", "flip must be true or false, got 1", None),
    ("optimizer adam betas=0.9\n", "betas must be a pair of numbers, got 0.9", "write it as betas=(0.9, 0.999)"),
    ("optimizer adam betas=(0.9, 1.5)\n", "betas must be less than 1, got (0.9, 1.5)", None),
    ("loss crossentropy label_smoothing=1\n", "label_smoothing must be less than 1, got 1", None),
    ("optimizer sgd nesterov=true\n", "nesterov needs momentum greater than 0", "add momentum=0.9"),
    ("schedule cosine warmup=10\nepochs 5\n", "the warm-up (10 epochs) is not shorter than the training (5 epochs)",
     None),
    ("lbl: batch 3\n", "training settings take no label", "write `batch ...` without `lbl:`"),
    ("repeat 2 { batch 3 }\n", "repeat is not a training setting", None),
    ("Stage(3)\n", "block call Stage is not a training setting", None),
])
def test_one_mistake(body, message, hint):
    with pytest.raises(archdsl.ArchError) as info:
        config_of(body)
    errors = [d for d in info.value.diagnostics if d.severity == "error"]
    assert len(errors) == 1, info.value.format()
    assert errors[0].message == message
    assert errors[0].span is not None and errors[0].span.file == "t.arch"
    if hint is not None:
        assert errors[0].hint == hint


def test_a_second_section_is_refused():
    text = NET + "train { batch 8 }\ntrain { epochs 2 }\n"
    with pytest.raises(archdsl.ArchError) as info:
        read_config(archdsl.loads(text, "t.arch"))
    d = info.value.first
    assert (d.message, d.line, d.notes) == ("a spec has one train section; this is another", 6,
                                            ["the first is at t.arch:5:1"])


def test_a_misspelt_key_does_not_echo_as_a_contradiction():
    text = errors_of("optimizer sgd momentun=0.9 nesterov=true\n")
    assert "nesterov needs" not in text and text.count("error:") == 1


def test_summary_lines():
    config = config_of("""\
        optimizer sgd lr=0.01 momentum=0.9 weight_decay=5e-4; batch 128; epochs 90
        schedule plateau factor=0.1 patience=5; early_stop patience=10
        loss crossentropy label_smoothing=0.1; clip 5; augment crop=4 flip=true
        """)
    assert summary_lines(config) == [
        "optimizer   sgd lr=0.01 momentum=0.9 weight_decay=5e-4",
        "schedule    plateau patience=5",
        "loss        crossentropy label_smoothing=0.1",
        "batch 128, epochs 90, seed 0, validation 20%",
        "early stop  after 10 epochs without a better val_loss",
        "clip        gradient norm at 5",
        "augment     random crop (padding 4), horizontal flip",
    ]
    assert summary_lines(TrainConfig()) == ["optimizer   adam lr=0.001", "loss        crossentropy",
                                            "batch 64, epochs 10, seed 0, validation 20%"]


def test_overrides():
    config = config_of("optimizer sgd lr=0.01 momentum=0.9\nepochs 90\n")
    assert apply_overrides(config, {"lr": 0.1, "epochs": 3, "batch": None}).optimizer["lr"] == 0.1
    assert apply_overrides(config, {"epochs": 3}).epochs == 3
    # A new kind starts from its defaults; the other flags apply on top, whatever their order.
    switched = apply_overrides(config, {"lr": 0.5, "optimizer": "adam"})
    assert switched.optimizer == {"name": "adam", "lr": 0.5, "betas": (0.9, 0.999), "eps": 1e-8,
                                  "weight_decay": 0.0}
    assert apply_overrides(config, {"patience": 3}).early_stop["patience"] == 3
    assert apply_overrides(config, {"clip": 2.0}).clip == {"norm": 2.0}
    assert apply_overrides(config, {"flip": True}).augment == {"crop": 0, "flip": True}


@pytest.mark.parametrize("flags, message", [
    ({"lr": -1.0}, "--lr: must be greater than 0, got -1"),
    ({"epochs": 0}, "--epochs: must be at least 1, got 0"),
    ({"val_split": 1.0}, "--val-split: must be less than 1, got 1"),
    ({"momentum": 0.9, "optimizer": "adam"},
     "--momentum: optimizer adam has no momentum (momentum belongs to sgd; add --optimizer sgd)"),
])
def test_bad_overrides_are_usage_errors(flags, message):
    with pytest.raises(BadOverride) as info:
        apply_overrides(TrainConfig(), flags)
    assert str(info.value) == message
    assert isinstance(info.value, archdsl.UsageError)


def test_every_setting_has_an_example_that_reads():
    for name, setting in SETTINGS.items():
        config = config_of(setting.example + "\n")
        assert config.spans[name].line == 6


def test_section_config_and_command_registration_do_not_import_torch():
    code = ("import sys, argparse, archdsl; from archdsl.train import read_config, summary_lines; "
            "read_config(archdsl.loads('network N { input 8; fc 2 }')); "
            "from archdsl.cli import train as command; "
            "command.add_parsers(argparse.ArgumentParser().add_subparsers()); "
            "print(sorted(m for m in ('torch', 'numpy', 'matplotlib', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
