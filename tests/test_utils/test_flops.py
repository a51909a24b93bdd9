# Copyright (c) mmadaptformer contributors. All rights reserved.
import torch
import torch.nn.functional as F

from mmadaptformer.utils import count_flops


def test_matmul_forward_and_input_gradient():
    a = torch.randn(8, 16, requires_grad=True)
    b = torch.randn(16, 4)
    assert count_flops(lambda: a @ b) == 2 * 8 * 16 * 4
    # Backward: only a's gradient (b is constant), the same again.
    assert count_flops(lambda: (a @ b).sum().backward()) == 2 * (2 * 8 * 16 *
                                                                 4)


def test_cpu_fused_attention_is_counted():
    q = torch.randn(2, 3, 10, 8, requires_grad=True)
    # q k^T and attn v: 2 * (2*B*H*N*N*D), as the plain computation.
    forward = 2 * (2 * 2 * 3 * 10 * 10 * 8)
    plain = count_flops(lambda: torch.softmax(q @ q.transpose(-1, -2), -1) @ q)
    assert plain == forward
    with torch.no_grad():
        assert count_flops(
            lambda: F.scaled_dot_product_attention(q, q, q)) == forward
    # PyTorch counts 2.5x the forward for the flash backward (it recomputes
    # q k^T).
    assert count_flops(lambda: F.scaled_dot_product_attention(q, q, q).sum().
                       backward()) == forward + forward * 5 // 2
