"""The PyTorch module a generated model.py copies for DetectionOutput (imports torch only).

The fork's Forward_cpu in torch ops: the arithmetic is the rules of detection_output.py
(copied into model.py with this class); the per-class greedy NMS is a Python loop over the
candidates, as the fork's, so the module runs eagerly (its output row count depends on the
data, which torch.export cannot trace).
"""

import torch
from torch import nn

from caffe2x.families.ssd.detection_output import (
    adapt_threshold,
    box_sizes,
    decode_boxes,
    jaccard_overlap,
    no_detection_rows,
)


class DetectionOutput(nn.Module):
    """(loc N x P*L*4, conf N x P*C, priors 1 x 2 x P*4) -> 1 x 1 x rows x 7, the fork's rows:
    [image, label, score, xmin, ymin, xmax, ymax] per image, label ascending, score descending."""

    def __init__(self, num_classes, share_location, background_label_id, code_type, variance_encoded_in_target,
                 keep_top_k, confidence_threshold, nms_threshold, eta, top_k, clip):
        super().__init__()
        self.num_classes, self.share_location = num_classes, share_location
        self.background_label_id, self.code_type = background_label_id, code_type
        self.variance_encoded_in_target, self.keep_top_k = variance_encoded_in_target, keep_top_k
        self.confidence_threshold, self.nms_threshold, self.eta = confidence_threshold, nms_threshold, eta
        self.top_k, self.clip = top_k, clip

    def forward(self, loc, conf, prior):
        num = loc.shape[0]
        num_priors = prior.shape[2] // 4
        priors = prior[0, 0].reshape(num_priors, 1, 4)
        variances = prior[0, 1].reshape(num_priors, 1, 4)
        loc = loc.reshape(num, num_priors, -1, 4)
        conf = conf.reshape(num, num_priors, self.num_classes)
        rows = []
        for i in range(num):
            boxes = decode_boxes(torch, priors, variances, loc[i], self.code_type,
                                 self.variance_encoded_in_target, self.clip)
            rows += self.image_rows(i, boxes, conf[i])
        if not rows:
            return torch.tensor(no_detection_rows(num), dtype=loc.dtype, device=loc.device).reshape(1, 1, num, 7)
        return torch.stack(rows).reshape(1, 1, len(rows), 7)

    def image_rows(self, image, boxes, scores):
        """One image's rows, in the fork's order (keep_top_k applied)."""
        sizes = box_sizes(torch, boxes)
        found = []
        for label in range(self.num_classes):
            if label != self.background_label_id:
                column = 0 if self.share_location else label
                found += [(label, idx) for idx in self.nms_fast(boxes[:, column], sizes[:, column], scores[:, label])]
        if -1 < self.keep_top_k < len(found):
            best = torch.tensor([float(scores[idx, label]) for label, idx in found], dtype=torch.float64)
            chosen = torch.sort(best, descending=True, stable=True).indices[:self.keep_top_k]
            found = [found[j] for j in sorted(chosen.tolist())]  # back to label, then NMS order
        rows = []
        for label, idx in found:
            box = boxes[idx, 0 if self.share_location else label]
            head = torch.stack([torch.tensor(float(image)), torch.tensor(float(label)), scores[idx, label].cpu()])
            rows.append(torch.cat([head.to(box), box]))
        return rows

    def nms_fast(self, boxes, sizes, scores):
        """ApplyNMSFast on one class: the kept prior indices, in keep order."""
        passing = torch.nonzero(scores > self.confidence_threshold).flatten()
        order = passing[torch.sort(scores[passing], descending=True, stable=True).indices]
        if self.top_k > -1:
            order = order[:self.top_k]
        kept = []
        threshold = torch.tensor(self.nms_threshold, dtype=torch.float32, device=boxes.device)
        for idx in order.tolist():
            if kept:
                overlaps = jaccard_overlap(torch, boxes[idx], sizes[idx], boxes[kept], sizes[kept])
                if not bool(torch.all(overlaps <= threshold)):
                    continue
            kept.append(idx)
            threshold = adapt_threshold(threshold, self.eta)
        return kept
