"""The PyTorch module a generated model.py copies for YoloDetectionOutput and
Yolov3DetectionOutput (imports torch only): yolo_nms.py's formulation in tensor ops. The greedy
NMS carries the remaining candidates compacted, in a Python loop; torch.export cannot trace a
state that changes size, so while exporting it carries a fixed-size mask through torch's
while_loop (torch._higher_order_ops, reached through `import torch` alone, as model.py imports
nothing else), and model.pt2 keeps the data-dependent number of steps. Both keep the same rows."""

import torch
from torch import nn

from caffe2x.families.yolo.yolo_nms import box_iou, corners, nms_terms, region_box


class YoloDetection(nn.Module):
    """Bottoms N x C x H x W -> 1 x 1 x rows x 7, the fork's rows (image id 0, label + 1, score
    descending). version 2: softmax classes, one candidate per box, confidence >= threshold;
    version 3: sigmoid classes, one candidate per box and class, confidence > threshold."""

    def __init__(self, version, num_classes, threshold, nms_threshold, plans):
        super().__init__()
        self.version, self.num_classes = version, num_classes
        self.threshold, self.nms_threshold = threshold, nms_threshold
        self.plans = tuple(tuple(p) for p in plans)

    def forward(self, *bottoms):
        parts = [self.candidates(x, plan) for x, plan in zip(bottoms, self.plans)]
        boxes, confidence, label, valid = (torch.cat(p) for p in zip(*parts))
        exporting = torch.compiler.is_exporting()
        if not exporting:  # only the valid ones, in push order (exported_nms keeps them all: see there)
            boxes, confidence, label, valid = boxes[valid], confidence[valid], label[valid], valid[valid]
        order = torch.sort(torch.where(valid, confidence, float("-inf")), descending=True, stable=True).indices
        boxes, confidence, label, valid = boxes[order], confidence[order], label[order], valid[order]
        terms = nms_terms(torch, *boxes.unbind(dim=-1))
        kept = self.exported_nms(terms, valid) if exporting else self.greedy_nms(terms)
        return self.rows(kept, boxes, confidence, label, bottoms[0].shape[0])

    def candidates(self, x, plan):
        """One bottom's candidates in the fork's order: boxes (M, 4), confidence, label, valid."""
        height, width, entries, anchors_w, anchors_h, side_w, side_h, net_w, net_h = plan
        num_box = len(anchors_w)
        t = x[:, :num_box * entries].reshape(-1, num_box, entries, height, width).permute(0, 3, 4, 1, 2)
        col = torch.arange(width, dtype=torch.float32, device=x.device)[None, None, :, None]
        row = torch.arange(height, dtype=torch.float32, device=x.device)[None, :, None, None]
        box = region_box(torch, col, row, torch.sigmoid(t[..., 0]), torch.sigmoid(t[..., 1]), t[..., 2], t[..., 3],
                         torch.tensor(anchors_w, device=x.device), torch.tensor(anchors_h, device=x.device),
                         side_w, side_h, net_w, net_h)
        boxes = torch.stack(box, dim=-1)  # (N, H, W, box, 4)
        logits = t[..., 5:5 + self.num_classes]
        objectness = torch.sigmoid(t[..., 4])
        if self.version == 2:  # class_index_and_score: the softmax's first largest entry
            e = torch.exp(logits - logits.amax(dim=-1, keepdim=True))
            probability = e / e.sum(dim=-1, keepdim=True)
            confidence = objectness * probability.amax(dim=-1)
            label = probability.argmax(dim=-1)
            valid = confidence >= self.threshold
            return boxes.reshape(-1, 4), confidence.reshape(-1), label.reshape(-1), valid.reshape(-1)
        confidence = torch.sigmoid(logits) * objectness[..., None]  # (N, H, W, box, class)
        label = torch.arange(self.num_classes, device=x.device).expand(confidence.shape)
        boxes = boxes[..., None, :].expand(*confidence.shape, 4)
        valid = confidence > self.threshold
        return boxes.reshape(-1, 4), confidence.reshape(-1), label.reshape(-1), valid.reshape(-1)

    def greedy_nms(self, terms):
        """ApplyNms over the sorted candidates' nms_terms: the first remaining one is kept and
        only those it overlaps with box_iou < nms_threshold (or NaN) remain. The kept mask."""
        kept = torch.zeros(terms[0].shape, dtype=torch.bool, device=terms[0].device)
        remaining = torch.stack(terms)  # (5, P): each step selects once for all five
        positions = torch.arange(terms[0].shape[0], device=terms[0].device)
        while positions.numel():
            kept[positions[0]] = True
            stays = ~(box_iou(torch, remaining[:, :1], remaining) >= self.nms_threshold)
            stays[0] = False
            index = stays.nonzero()[:, 0]
            remaining, positions = remaining.index_select(1, index), positions.index_select(0, index)
        return kept

    def exported_nms(self, terms, valid):
        """greedy_nms in fixed shapes for torch.export: a remaining mask over every candidate,
        the valid ones first (torch.export guards argmax's input to be non-empty, so the
        candidates are not compacted to the valid ones, which may be none)."""
        positions = torch.arange(terms[0].shape[0], device=terms[0].device)
        threshold = self.nms_threshold

        def remains(kept, remaining):
            return remaining.any()

        def step(kept, remaining):  # reads the `terms` tensors: while_loop refuses aliased inputs
            first = torch.argmax(remaining.to(torch.int32)).reshape(1)
            here = positions == first
            iou = box_iou(torch, tuple(t.index_select(0, first) for t in terms), terms)
            return kept | here, remaining & ~(iou >= threshold) & ~here

        kept, _ = torch._higher_order_ops.while_loop(remains, step, (torch.zeros_like(valid), valid.clone()))
        return kept

    def rows(self, kept, boxes, confidence, label, batch):
        """Every candidate's row, then the fork's no-detection rows, selected by one mask."""
        left, top, right, bottom = corners(*boxes.unbind(dim=-1))
        every = torch.stack([torch.zeros_like(confidence), label.to(torch.float32) + 1, confidence,
                             left, top, right, bottom], dim=-1)
        none = torch.cat([torch.arange(batch, dtype=torch.float32, device=boxes.device)[:, None],
                          -torch.ones(batch, 6, device=boxes.device)], dim=1)
        mask = torch.cat([kept, (~kept.any()).expand(batch)])
        return torch.cat([every, none])[mask].reshape(1, 1, -1, 7)
