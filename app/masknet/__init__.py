"""The obstruction-aware face mask network (DeepFaceLab 1.0's FAN-seg masks, trained here).

DeepFaceLab shipped a pretrained segmentation network ("FAN-seg") that masks the face but not
what covers it (a hand, a microphone, hair). Nothing can be downloaded here, so the network is
trained on the user's own aligned faces: the target is each face's landmark hull with the mask
editor's polygons applied (the user's labels, weighted up), and synthetic obstructions pasted
over the face (shapes textured with other faces, skin and flat colours) teach it to leave out
whatever covers the face. Merge's FAN-prd / FAN-dst mask modes run it on the predicted and on
the dst face.

    net.py        the small U-Net, its files (safetensors + JSON), inference at any size
    occluders.py  synthetic obstructions pasted over a face, with the mask they leave
    training.py   batches, the training loop, held-out evaluation against the plain hull
"""
