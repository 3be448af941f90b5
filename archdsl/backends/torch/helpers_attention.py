"""The helper definitions a generated file carries for tokens and attention
(entries of helpers.HELPERS): the class token, position embeddings,
attention with q/k/v and output biases chosen apart (and cross-attention),
and Swin's window attention and patch merging, ported from torchvision's
swin_transformer.py so that a torchvision state_dict loads in order and the
outputs agree."""
from __future__ import annotations

ATTENTION_HELPERS = {
    "ClassToken": '''
class ClassToken(nn.Module):
    """Prepend n learned tokens (ViT's class token): N x L x D -> N x (n + L) x D."""

    def __init__(self, dim, n=1):
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, n, dim))

    def forward(self, x):
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)
''',
    "PositionEmbedding": '''
class PositionEmbedding(nn.Module):
    """Learned position embeddings added to the tokens (ViT's pos_embedding): one
    per token of a sequence (`positions` its length) or of a grid (a tuple)."""

    def __init__(self, positions, dim):
        super().__init__()
        positions = positions if isinstance(positions, tuple) else (positions,)
        self.weight = nn.Parameter(torch.empty(1, *positions, dim).normal_(std=0.02))

    def forward(self, x):
        return x + self.weight
''',
    "SinCosPositionEmbedding": '''
class SinCosPositionEmbedding(nn.Module):
    """The fixed sine-cosine position table of "Attention is all you need" (no parameters)."""

    def __init__(self, length, dim):
        super().__init__()
        position = torch.arange(length, dtype=torch.float32)[:, None]
        rate = torch.pow(10000.0, -torch.arange(0, dim, 2, dtype=torch.float32) / dim)
        table = torch.zeros(1, length, dim)
        table[0, :, 0::2] = torch.sin(position * rate)
        table[0, :, 1::2] = torch.cos(position * rate)
        self.register_buffer("table", table, persistent=False)

    def forward(self, x):
        return x + self.table
''',
    "Attention": '''
class Attention(nn.MultiheadAttention):
    """nn.MultiheadAttention (batch first) with the q/k/v and output biases chosen
    apart; forward(x) is self-attention, forward(x, memory) cross-attention."""

    def __init__(self, dim, heads, qkv_bias=True, proj_bias=True, dropout=0.0, kdim=None):
        super().__init__(dim, heads, dropout=dropout, bias=qkv_bias, kdim=kdim, vdim=kdim, batch_first=True)
        if proj_bias and not qkv_bias:
            self.out_proj.bias = nn.Parameter(torch.zeros(dim))
        elif qkv_bias and not proj_bias:
            self.out_proj.register_parameter("bias", None)

    def forward(self, x, memory=None):
        memory = x if memory is None else memory
        return super().forward(x, memory, memory, need_weights=False)[0]
''',
    "shifted_window_attention": '''
def shifted_window_attention(x, qkv, proj, bias, window, heads, shift, attention_dropout, dropout,
                             training, logit_scale=None):
    """Swin's window attention on N x H x W x C, as torchvision's: pad to whole
    windows, roll by `shift` (masking the tokens the roll wrapped), attend in
    each window with the relative position bias, undo it all. The map's sides are
    the spec's (fixed), the batch is free: ONNX export keeps it dynamic."""
    h, w, c = (int(d) for d in x.shape[1:])
    ph, pw = h + (window - h % window) % window, w + (window - w % window) % window
    x = F.pad(x, (0, 0, 0, pw - w, 0, ph - h))
    shift_h, shift_w = (0 if window >= ph else shift), (0 if window >= pw else shift)
    if shift_h or shift_w:
        x = torch.roll(x, shifts=(-shift_h, -shift_w), dims=(1, 2))
    windows = (ph // window) * (pw // window)
    x = x.view(-1, ph // window, window, pw // window, window, c).permute(0, 1, 3, 2, 4, 5)
    x = x.reshape(-1, window * window, c)
    qkv_bias = qkv.bias
    if logit_scale is not None and qkv_bias is not None:
        qkv_bias = qkv_bias.clone()
        qkv_bias[c:2 * c].zero_()
    q, k, v = F.linear(x, qkv.weight, qkv_bias).reshape(-1, window * window, 3, heads, c // heads).permute(
        2, 0, 3, 1, 4)
    if logit_scale is not None:  # Swin v2: cosine attention
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(logit_scale, max=4.605170185988092).exp()  # log(100)
    else:
        attn = (q * (c // heads) ** -0.5) @ k.transpose(-2, -1)
    attn = attn + bias
    if shift_h or shift_w:
        mask = x.new_zeros((ph, pw))
        count = 0
        for hs in ((0, -window), (-window, -shift_h), (-shift_h, None)):
            for ws in ((0, -window), (-window, -shift_w), (-shift_w, None)):
                mask[hs[0]:hs[1], ws[0]:ws[1]] = count
                count += 1
        mask = mask.view(ph // window, window, pw // window, window).permute(0, 2, 1, 3)
        mask = mask.reshape(windows, window * window)
        mask = mask.unsqueeze(1) - mask.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        tokens = window * window
        attn = attn.view(-1, windows, heads, tokens, tokens) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, tokens, tokens)
    attn = F.dropout(F.softmax(attn, dim=-1), p=attention_dropout, training=training)
    x = (attn @ v).transpose(1, 2).reshape(-1, window * window, c)
    x = F.dropout(proj(x), p=dropout, training=training)
    x = x.view(-1, ph // window, pw // window, window, window, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ph, pw, c)
    if shift_h or shift_w:
        x = torch.roll(x, shifts=(shift_h, shift_w), dims=(1, 2))
    return x[:, :h, :w, :].contiguous()
''',
    "ShiftedWindowAttention": '''
class ShiftedWindowAttention(nn.Module):
    """Swin's (shifted) window attention on N x H x W x C (torchvision's ShiftedWindowAttention)."""

    def __init__(self, dim, window, shift, heads, qkv_bias=True, proj_bias=True, attention_dropout=0.0,
                 dropout=0.0):
        super().__init__()
        self.window, self.shift, self.heads = window, shift, heads
        self.attention_dropout, self.dropout = attention_dropout, dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.define_relative_position_bias_table()
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous() + (window - 1)
        relative[:, :, 0] *= 2 * window - 1
        self.register_buffer("relative_position_index", relative.sum(-1).flatten())

    def define_relative_position_bias_table(self):
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * self.window - 1) ** 2, self.heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def relative_position_bias(self, table):
        n = self.window * self.window
        return table[self.relative_position_index].view(n, n, -1).permute(2, 0, 1).contiguous().unsqueeze(0)

    def forward(self, x):
        return shifted_window_attention(x, self.qkv, self.proj, self.relative_position_bias(
            self.relative_position_bias_table), self.window, self.heads, self.shift, self.attention_dropout,
            self.dropout, self.training)
''',
    "ShiftedWindowAttentionV2": '''
class ShiftedWindowAttentionV2(ShiftedWindowAttention):
    """Swin v2's window attention: cosine attention with a learned logit scale, the
    bias from a continuous position-bias MLP (torchvision's ShiftedWindowAttentionV2)."""

    def __init__(self, dim, window, shift, heads, qkv_bias=True, proj_bias=True, attention_dropout=0.0,
                 dropout=0.0):
        super().__init__(dim, window, shift, heads, qkv_bias, proj_bias, attention_dropout, dropout)
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(512, heads, bias=False))
        if qkv_bias:
            self.qkv.bias.data[dim:2 * dim].zero_()

    def define_relative_position_bias_table(self):
        axis = torch.arange(-(self.window - 1), self.window, dtype=torch.float32)
        table = torch.stack(torch.meshgrid([axis, axis], indexing="ij")).permute(1, 2, 0).contiguous().unsqueeze(0)
        table = table / (self.window - 1) * 8
        table = torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / 3.0
        self.register_buffer("relative_coords_table", table)

    def forward(self, x):
        bias = 16 * torch.sigmoid(self.relative_position_bias(self.cpb_mlp(self.relative_coords_table).view(
            -1, self.heads)))
        return shifted_window_attention(x, self.qkv, self.proj, bias, self.window, self.heads, self.shift,
                                        self.attention_dropout, self.dropout, self.training, self.logit_scale)
''',
    "PartitionAttention": '''
class PartitionAttention(nn.Module):
    """MaxViT's block or grid attention on N x H x W x C: torchvision's
    RelativePositionalMultiHeadAttention inside a PartitionAttentionLayer.
    partition="window": W x W neighbouring tokens a window; "grid": W x W tokens
    H/W apart (token a * H/W + b of each axis goes to window b, place a). Each
    window attends to itself with a relative position bias ((2W - 1)^2 per
    head); q.k is scaled by 1/sqrt(C) (scale="features", torchvision's MaxViT) or
    1/sqrt(C / heads). The map is padded to whole windows first."""

    def __init__(self, dim, window, heads, partition="window", scale="head", qkv_bias=True, proj_bias=True,
                 attention_dropout=0.0, dropout=0.0):
        super().__init__()
        self.window, self.heads, self.partition = window, heads, partition
        self.scale_factor = (dim if scale == "features" else dim // heads) ** -0.5
        self.attention_dropout, self.dropout = attention_dropout, dropout
        self.to_qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.merge = nn.Linear(dim, dim, bias=proj_bias)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous() + (window - 1)
        relative[:, :, 0] *= 2 * window - 1
        self.register_buffer("relative_position_index", relative.sum(-1))

    def relative_positional_bias(self):
        n = self.window * self.window
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        return bias.permute(2, 0, 1).contiguous().unsqueeze(0)

    def forward(self, x):
        h, w, c = (int(d) for d in x.shape[1:])  # the spec's sides (fixed), the batch free
        p, heads = self.window, self.heads
        ph, pw = h + (p - h % p) % p, w + (p - w % p) % p
        x = F.pad(x, (0, 0, 0, pw - w, 0, ph - h))
        gh, gw = ph // p, pw // p
        if self.partition == "grid":  # N, a_h, b_h, a_w, b_w, C -> N, b_h, b_w, a_h, a_w, C
            x = x.view(-1, p, gh, p, gw, c).permute(0, 2, 4, 1, 3, 5)
        else:  # N, b_h, a_h, b_w, a_w, C -> N, b_h, b_w, a_h, a_w, C
            x = x.view(-1, gh, p, gw, p, c).permute(0, 1, 3, 2, 4, 5)
        x = x.reshape(-1, p * p, c)  # (N * windows) x W^2 x C
        q, k, v = self.to_qkv(x).reshape(-1, p * p, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        attn = q @ (k * self.scale_factor).transpose(-2, -1) + self.relative_positional_bias()
        attn = F.dropout(F.softmax(attn, dim=-1), p=self.attention_dropout, training=self.training)
        x = (attn @ v).transpose(1, 2).reshape(-1, p * p, c)
        x = F.dropout(self.merge(x), p=self.dropout, training=self.training).view(-1, gh, gw, p, p, c)
        if self.partition == "grid":
            x = x.permute(0, 3, 1, 4, 2, 5)
        else:
            x = x.permute(0, 1, 3, 2, 4, 5)
        return x.reshape(-1, ph, pw, c)[:, :h, :w, :].contiguous()
''',
    "PatchMerging": '''
class PatchMerging(nn.Module):
    """Swin's patch merging on N x H x W x C: each 2x2 neighbourhood concatenated
    (4C), normalised (norm="pre"; "post" normalises the 2C output, as Swin v2),
    and reduced to 2C without bias (torchvision's PatchMerging, PatchMergingV2)."""

    def __init__(self, dim, norm="pre", eps=1e-5):
        super().__init__()
        self.order = norm
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim if norm == "pre" else 2 * dim, eps=eps) if norm != "none" else nn.Identity()

    def forward(self, x):
        h, w = (int(d) for d in x.shape[-3:-1])  # the spec's sides (fixed): a constant pad for ONNX
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]],
                      -1)
        if self.order == "pre":
            return self.reduction(self.norm(x))
        return self.norm(self.reduction(x))
''',
}
