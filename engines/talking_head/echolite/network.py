"""The personal mouth painter: a small U-Net that draws a given mouth shape in the person's texture.

Sized for CPUs: one thin layer at full crop resolution, the width where the maps are small
(31 training samples/s on 2 cores on a 512x512 video's crops, 2026-11).
"""
from __future__ import annotations

import torch
from torch import nn


# Real mouths the network copies texture from: the person's closed mouth, and the training mouth nearest in shape.
REFERENCES = 2
SHAPE_CHANNELS = 2  # lips and mouth opening, drawn from the predicted mouth points


def conv(channels_in: int, channels_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.LeakyReLU(0.2, inplace=True),
    )


class LipNet(nn.Module):
    """(background crop with the mouth region masked, reference crops, drawn mouth shape) -> crop with a mouth."""

    def __init__(self):
        super().__init__()
        self.enc1 = conv(3 + 3 * REFERENCES + SHAPE_CHANNELS, 16)  # 96
        self.enc2 = nn.Sequential(conv(16, 32, 2), conv(32, 32))  # 48
        self.enc3 = conv(32, 64, 2)  # 24
        self.enc4 = conv(64, 128, 2)  # 12
        self.enc5 = conv(128, 128, 2)  # 6
        self.middle = conv(128, 128)
        self.dec4 = conv(256, 128)
        self.dec3 = conv(192, 64)
        self.dec2 = conv(96, 32)
        self.dec1 = conv(48, 16)
        self.out = nn.Conv2d(16, 3, 1)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, masked: torch.Tensor, references: torch.Tensor, shapes: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(torch.cat([masked, references, shapes], 1))
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.enc4(e3)
        e5 = self.enc5(e4)
        x = self.middle(e5)
        x = self.dec4(torch.cat([self.up(x), e4], 1))
        x = self.dec3(torch.cat([self.up(x), e3], 1))
        x = self.dec2(torch.cat([self.up(x), e2], 1))
        x = self.dec1(torch.cat([self.up(x), e1], 1))
        return torch.sigmoid(self.out(x))
