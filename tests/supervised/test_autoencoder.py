"""The decoders and auto-encoder losses, the pre-training loop, and the encoder file format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces

from gymsuite.common.errors import UserError
from gymsuite.supervised.autoencoder import AutoEncoderLoss, ImageDecoder, VectorDecoder, make_decoder, target_of
from gymsuite.supervised.cnn import IcmCnn
from gymsuite.supervised.encoderfile import check_fits, read_encoder, save_encoder
from gymsuite.supervised.mlp import MlpBackbone
from gymsuite.supervised.pretrain import PretrainSettings, preprocess, pretrain


def image(shape: tuple[int, ...]) -> spaces.Box:
    return spaces.Box(0, 255, shape, np.uint8)


@pytest.mark.parametrize("shape", [(3, 12, 12), (1, 84, 84), (3, 7, 7), (4, 56, 40), (1, 1, 1), (3, 64, 64)])
def test_image_decoder_returns_the_image_shape_in_unit_range(shape: tuple[int, int, int]) -> None:
    decoder = make_decoder(image(shape), 16)
    assert isinstance(decoder, ImageDecoder)
    with torch.no_grad():
        out = decoder(torch.randn(5, 16) * 10)
    assert out.shape == (5, *shape)
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    assert max(decoder.start) <= 11  # the first map stays small, so the linear layer does too


def test_a_saturated_decoder_makes_no_subnormal_floats_and_its_pixels_still_learn() -> None:
    decoder = make_decoder(image((2, 12, 18)), 8)
    assert isinstance(decoder, ImageDecoder)
    with torch.no_grad():  # every logit at -45: a plain sigmoid's MSE gradient toward 0 is then subnormal (~1e-42)
        decoder.head.bias.fill_(-45.0)
        for layer in decoder.body:
            if isinstance(layer, torch.nn.ConvTranspose2d):
                layer.bias.fill_(-45.0)
    z = torch.zeros(3, 8, requires_grad=True)
    out = decoder(z)
    out.retain_grad()
    target = torch.zeros_like(out)
    target[:, 1] = 1.0  # channel 0 stays black (the subnormal case); channel 1 must be pulled back up
    torch.nn.functional.mse_loss(out, target).backward()
    tiny = torch.finfo(torch.float32).tiny
    for values in (out, out.grad, *(p.grad for p in decoder.parameters())):
        assert values is not None
        assert not bool(((values != 0) & (values.abs() < tiny)).any())  # no subnormals
    last = [layer for layer in decoder.body if isinstance(layer, torch.nn.ConvTranspose2d)][-1]
    assert last.bias.grad is not None and float(last.bias.grad[1]) < 0  # the clamp still lets the gradient through


def test_channels_last_target_is_channels_first_and_vectors_are_flat() -> None:
    x = torch.rand(2, 12, 10, 3)
    assert torch.equal(target_of(x, image((12, 10, 3))), x.permute(0, 3, 1, 2))
    assert make_decoder(image((12, 10, 3)), 8)(torch.zeros(2, 8)).shape == (2, 3, 12, 10)
    vec = spaces.Box(-1, 1, (2, 3), np.float32)
    assert isinstance(make_decoder(vec, 8), VectorDecoder) and make_decoder(vec, 8)(torch.zeros(4, 8)).shape == (4, 6)
    assert target_of(torch.zeros(4, 2, 3), vec).shape == (4, 6)
    with pytest.raises(UserError, match="image or Box"):
        make_decoder(spaces.Discrete(3), 8)


def test_corruption() -> None:
    x = torch.full((64, 3, 8, 8), 0.5)
    assert torch.equal(AutoEncoderLoss("recon").corrupt(x, True), x)
    masked = AutoEncoderLoss("denoise", corruption="mask", noise=0.25).corrupt(x, True)
    assert 0.2 < float((masked == 0).float().mean()) < 0.3
    noisy = AutoEncoderLoss("denoise", noise=1.0).corrupt(x, True)
    assert float(noisy.min()) == 0 and float(noisy.max()) == 1  # images stay in [0, 1]
    assert float(AutoEncoderLoss("denoise", noise=1.0).corrupt(x, False).max()) > 1


@pytest.mark.parametrize("kind", ["recon", "denoise"])
def test_loss_decreases_on_a_fixed_batch(kind: str) -> None:
    torch.manual_seed(0)
    space = image((3, 12, 12))
    encoder, decoder = IcmCnn(space, features_dim=16), make_decoder(space, 16)
    frames = np.zeros((16, 3, 12, 12), np.uint8)
    for i in range(16):
        frames[i, :, :, 4 * (i % 3):4 * (i % 3) + 4] = 255  # Corridor's three pictures
    x, loss = preprocess(frames, space), AutoEncoderLoss(kind, corruption="mask", noise=0.1)
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=3e-3)
    values = []
    for _ in range(40):
        out = loss(encoder, decoder, x, space)
        assert set(out) == {"loss", f"{kind}_loss", "latent_l2"}
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
        values.append(out[f"{kind}_loss"].item())
    assert values[-1] < 0.5 * values[0]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters())


def test_latent_penalty_is_half_the_squared_norm() -> None:
    space = spaces.Box(-1, 1, (3,), np.float32)
    encoder = MlpBackbone(space, net_arch=[4])
    x = torch.randn(6, 3)
    out = AutoEncoderLoss("recon", latent_l2=0.1)(encoder, make_decoder(space, 4), x, space)
    z = encoder(x)
    assert torch.isclose(out["latent_l2"], 0.5 * (z**2).sum(1).mean())
    assert torch.isclose(out["loss"], out["recon_loss"] + 0.1 * out["latent_l2"])


def test_pretrain_lowers_the_loss_and_leaves_frozen_weights_alone() -> None:
    space = image((3, 12, 12))
    frames = np.random.default_rng(0).integers(0, 2, (32, 3, 12, 12), dtype=np.uint8) * 255
    encoder = IcmCnn(space, features_dim=8)
    history = pretrain(encoder, frames, space, AutoEncoderLoss(), PretrainSettings(epochs=6, batch_size=16))
    assert len(history) == 6 and history[-1] < history[0]
    frozen = IcmCnn(space, features_dim=8, freeze=True)
    before = {k: v.clone() for k, v in frozen.state_dict().items()}
    pretrain(frozen, frames, space, AutoEncoderLoss(), PretrainSettings(epochs=1, batch_size=16))
    assert all(torch.equal(before[k], v) for k, v in frozen.state_dict().items())


def test_encoder_file_round_trip_and_checks(tmp_path: Path) -> None:
    space = image((3, 12, 12))
    encoder = IcmCnn(space, features_dim=8)
    save_encoder(tmp_path / "e.pt", "icm_cnn", {"features_dim": 8, "freeze": True}, space, encoder.state_dict())
    data = read_encoder(tmp_path / "e.pt")
    assert data["backbone_kwargs"] == {"features_dim": 8}  # freeze is the run's choice, not the file's
    assert all(torch.equal(data["state_dict"][k], v) for k, v in encoder.state_dict().items())
    check_fits(data, "e.pt", "icm_cnn", {"features_dim": 8, "freeze": True}, space)
    with pytest.raises(UserError, match=r"shape=\[3, 12, 12\].*shape=\[3, 16, 16\]"):
        check_fits(data, "e.pt", "icm_cnn", {"features_dim": 8}, image((3, 16, 16)))
    with pytest.raises(UserError, match="holds a 'icm_cnn' backbone"):
        check_fits(data, "e.pt", "mlp", {}, space)
    with pytest.raises(UserError, match="built with"):
        check_fits(data, "e.pt", "icm_cnn", {}, space)  # the default features_dim is 256
    save_encoder(tmp_path / "d.pt", "icm_cnn", {}, space, IcmCnn(space).state_dict())
    check_fits(read_encoder(tmp_path / "d.pt"), "d.pt", "icm_cnn", {"features_dim": 256}, space)  # defaults filled


def test_read_encoder_refuses_what_is_not_one(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no encoder file"):
        read_encoder(tmp_path / "missing.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(UserError, match="not an encoder file"):
        read_encoder(tmp_path / "text.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(UserError, match="not a gymsuite encoder file"):
        read_encoder(tmp_path / "other.pt")
