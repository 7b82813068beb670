"""The PyTorch module a generated model.py copies for Proposal (imports torch only).

py-faster-rcnn's ProposalLayer (or the pva variant) in tensor ops, with the rules of proposal.py:
decode, clip and the minimum-size rule over every anchor (removed, or scored 0 for pva); a
stable descending sort (ties to the lower anchor)
and its first pre_nms_topn, the filtered boxes last; the greedy NMS exactly (py_cpu_nms's +1
overlaps, suppressing an overlap > nms_thresh), as the fixed point of "kept = candidate and
not suppressed by a kept earlier one", reached in a torch.while_loop (the fixed point is
unique, and it is the greedy result); the first post_nms_topn kept. Rows (R, 5), R dynamic.
"""

import torch
from torch import nn

from caffe2x.families.detection.proposal import (
    rpn_clip,
    rpn_decode,
    rpn_min_sides,
    rpn_overlaps,
    rpn_too_small,
    score_rows,
    small_box_score,
)


class Proposal(nn.Module):
    """(scores 1 x 2A x H x W, deltas 1 x 4A x H x W, im_info 1 x 3) -> rois (R, 5)[, scores (R, 1)]."""

    def __init__(self, base_anchors, height, width, feat_stride, min_size, pre_nms_topn, post_nms_topn,
                 nms_thresh, tops, variant="py-faster-rcnn"):
        super().__init__()
        base = torch.tensor(base_anchors, dtype=torch.float64)
        shift_y, shift_x = torch.meshgrid(torch.arange(height, dtype=torch.float64) * feat_stride,
                                          torch.arange(width, dtype=torch.float64) * feat_stride, indexing="ij")
        shifts = torch.stack([shift_x.reshape(-1), shift_y.reshape(-1), shift_x.reshape(-1), shift_y.reshape(-1)], 1)
        self.register_buffer("anchors", (base[None] + shifts[:, None]).reshape(-1, 4).float(), persistent=False)
        self.num_anchors, self.min_size, self.nms_thresh, self.tops = len(base_anchors), min_size, nms_thresh, tops
        count = self.anchors.shape[0]
        self.k = min(pre_nms_topn, count) if pre_nms_topn > 0 else count
        self.post_nms_topn, self.variant = post_nms_topn, variant

    def forward(self, scores, deltas, im_info):
        fg = scores[0, self.num_anchors:].permute(1, 2, 0).reshape(-1)
        flat_deltas = deltas[0].permute(1, 2, 0).reshape(-1, 4)
        info = im_info.reshape(-1)
        box = rpn_clip(torch, rpn_decode(torch, self.anchors, flat_deltas), info[0], info[1])
        small = rpn_too_small(box, *rpn_min_sides(info, self.min_size, self.variant))
        ranked = torch.where(small, small_box_score(self.variant), fg)
        order = torch.sort(ranked, descending=True, stable=True).indices[:self.k]
        kept = self.greedy_nms([c[order] for c in box], ranked[order] != float("-inf"))
        positions = torch.nonzero(kept)[:, 0]
        if self.post_nms_topn > 0:
            positions = positions[:self.post_nms_topn]
        chosen = order[positions]
        boxes = torch.stack(box, 1)[chosen]
        rois = torch.cat([torch.zeros_like(boxes[:, :1]), boxes], 1)
        return (rois, ranked[chosen].reshape(score_rows(self.variant, -1))) if self.tops == 2 else rois

    def greedy_nms(self, candidates, valid):
        """py_cpu_nms over the candidates in score order: which positions are kept."""
        overlaps = rpn_overlaps(torch, [c[:, None] for c in candidates], [c[None, :] for c in candidates])
        later = torch.ones(overlaps.shape, dtype=torch.bool, device=valid.device).triu(1)
        suppresses = (overlaps > self.nms_thresh) & later  # [i, j]: a kept i suppresses a later j

        def unsettled(kept, changed):
            return changed.clone()

        def step(kept, changed):
            new = valid & ~(suppresses & kept[:, None]).any(0)
            return new, (new != kept).any()

        kept, _ = torch.while_loop(unsettled, step, (valid.clone(), torch.ones((), dtype=torch.bool)))
        return kept
