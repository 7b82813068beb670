"""The PyTorch module a generated model.py copies for DetectionOutput (imports torch only).

The fork's algorithm in tensor ops, the same formulation as the ONNX and Keras forms: decode
and overlaps by the rules of detection_output.py; per (image, class) a stable sort of the
scores (ties to the lower prior: the fork's std::stable_sort) and its first top_k, the
scores above confidence_threshold being a prefix of it; the greedy NMS with the adaptive eta
as a loop over the candidate positions, for all images and classes at once; keep_top_k by a
stable sort of each image's kept scores (ties to the lower label, then the earlier kept);
the rows of the kept (image, label, position) in row-major order are the fork's row order,
and when there is none at all, the fork's [image, -1, ...] rows.
"""

import torch
from torch import nn

from caffe2x.families.ssd.detection_output import box_sizes, decode_boxes, jaccard_overlap


class DetectionOutput(nn.Module):
    """(loc N x P*L*4, conf N x P*C, priors 1 x 2 x P*4) -> 1 x 1 x rows x 7, the fork's rows:
    [image, label, score, xmin, ymin, xmax, ymax] per image, label ascending, score descending."""

    def __init__(self, num_classes, share_location, background_label_id, code_type, variance_encoded_in_target,
                 keep_top_k, confidence_threshold, nms_threshold, eta, top_k, clip):
        super().__init__()
        self.num_classes, self.share_location = num_classes, share_location
        self.code_type, self.variance_encoded_in_target = code_type, variance_encoded_in_target
        self.keep_top_k, self.confidence_threshold = keep_top_k, confidence_threshold
        self.nms_threshold, self.eta, self.top_k, self.clip = nms_threshold, eta, top_k, clip
        self.classes = [c for c in range(num_classes) if c != background_label_id]

    def forward(self, loc, conf, prior):
        num_priors = prior.shape[2] // 4
        k = min(self.top_k, num_priors) if self.top_k > -1 else num_priors
        if not self.classes or k == 0:  # nothing can be detected
            return self.rows(torch.zeros(loc.shape[0], 1, 1, dtype=torch.bool, device=loc.device),
                             torch.zeros(loc.shape[0], 1, 1, device=loc.device),
                             torch.zeros(loc.shape[0], 1, 1, 4, device=loc.device), [0.0])
        boxes = self.decoded(loc, prior[0].reshape(2, num_priors, 1, 4), num_priors)  # (B, C', P, 4)
        scores = conf.reshape(conf.shape[0], num_priors, self.num_classes).transpose(1, 2)[:, self.classes]
        order = torch.sort(scores, dim=-1, descending=True, stable=True).indices[:, :, :k]
        top_scores = torch.gather(scores, 2, order)  # (B, C', K)
        candidates = torch.gather(boxes, 2, order[..., None].expand(-1, -1, -1, 4))  # (B, C', K, 4)
        kept = self.greedy_nms(candidates, top_scores > self.confidence_threshold, k)
        if self.keep_top_k > -1:
            kept = self.best_of_image(kept, top_scores)
        return self.rows(kept, top_scores, candidates, self.classes)

    def decoded(self, loc, prior, num_priors):
        loc = loc.reshape(loc.shape[0], num_priors, -1, 4)
        boxes = decode_boxes(torch, prior[0], prior[1], loc, self.code_type, self.variance_encoded_in_target,
                             self.clip).transpose(1, 2)  # (B, L, P, 4)
        if self.share_location:
            return boxes.expand(-1, len(self.classes), -1, -1)
        return boxes[:, self.classes]

    def greedy_nms(self, candidates, valid, k):
        """ApplyNMSFast for every (image, class): candidate k is kept when valid and no kept one
        overlaps it by more than the adaptive threshold (a NaN overlap suppresses, as the fork's `<=`)."""
        sizes = box_sizes(torch, candidates)
        overlaps = jaccard_overlap(torch, candidates[:, :, :, None], sizes[:, :, :, None],
                                   candidates[:, :, None], sizes[:, :, None])  # (B, C', K, K)
        kept = torch.zeros_like(valid)
        threshold = torch.full(valid.shape[:2], self.nms_threshold, dtype=torch.float32, device=valid.device)
        for position in range(k):
            beyond = ~(overlaps[:, :, position] <= threshold[:, :, None]) & kept
            keep = valid[:, :, position] & ~beyond.any(dim=-1)
            kept[:, :, position] = keep
            if self.eta < 1:
                threshold = torch.where(keep & (threshold > 0.5), threshold * self.eta, threshold)
        return kept

    def best_of_image(self, kept, top_scores):
        """keep_top_k: each image's highest kept scores, ties to the lower label, then NMS position."""
        flat_kept = kept.reshape(kept.shape[0], -1)
        flat = torch.where(flat_kept, top_scores.reshape(flat_kept.shape), float("-inf"))
        best = torch.sort(flat, dim=-1, descending=True, stable=True).indices[:, :self.keep_top_k]
        chosen = torch.zeros_like(flat_kept).scatter(1, best, True)
        return kept & chosen.reshape(kept.shape)

    def rows(self, kept, top_scores, candidates, classes):
        """Every candidate's row, then the fork's no-detection rows, selected by one mask (no
        data-dependent branch): 1 x 1 x rows x 7."""
        batch, width, k = kept.shape
        image = torch.arange(batch, dtype=torch.float32, device=kept.device)[:, None, None].expand(-1, width, k)
        label = torch.tensor(classes, dtype=torch.float32, device=kept.device)[None, :, None]
        every = torch.cat([image[..., None], label.expand(batch, -1, k)[..., None], top_scores[..., None],
                           candidates], dim=-1).reshape(-1, 7)
        none = torch.cat([image[:, 0, :1], -torch.ones(batch, 6, device=kept.device)], dim=1)
        mask = torch.cat([kept.reshape(-1), (~kept.any()).expand(batch)])
        return torch.cat([every, none])[mask].reshape(1, 1, -1, 7)
