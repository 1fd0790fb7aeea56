"""guard5's intent head over token states (scripts/guard_attention.py): NumPy inference equals the torch head."""

from __future__ import annotations

import numpy as np
import torch
from scripts.guard_attention import AttentionConfig, AttentionHead, attention_logits, head_arrays, numpy_logits


def test_numpy_inference_matches_torch_on_padded_batches() -> None:
    torch.manual_seed(0)
    config = AttentionConfig(queries=3, key_dim=8, hidden=16)
    net = AttentionHead(8, config)
    net.eval()
    rng = np.random.default_rng(0)
    states = [rng.normal(size=(length, 384)).astype(np.float16) for length in (4, 11, 7)]
    embeddings = rng.normal(size=(3, 384)).astype(np.float32)
    batched = attention_logits([net], states, embeddings, max_tokens=config.max_tokens)
    arrays = head_arrays(net)
    assert arrays["intent_queries"].shape == (8, 3)
    for row, item in enumerate(states):
        single = numpy_logits(arrays, item.astype(np.float32), embeddings[row])
        np.testing.assert_allclose(single, batched[row], atol=1e-4)  # padding rows carry no weight


def test_without_queries_the_head_reads_only_the_sentence_embedding() -> None:
    torch.manual_seed(1)
    net = AttentionHead(8, AttentionConfig(queries=0, hidden=8))
    net.eval()
    embedding = torch.randn(1, 384)
    with torch.no_grad():
        first = net(torch.randn(1, 5, 384), torch.ones(1, 5, dtype=torch.bool), embedding)
        second = net(torch.randn(1, 9, 384), torch.ones(1, 9, dtype=torch.bool), embedding)
    torch.testing.assert_close(first, second)
