# AdaptFormer-64 on HMDB51 official split 2; everything else as split 1.
_base_ = ['./adaptformer_vitb_hmdb51.py']

train_dataloader = dict(
    dataset=dict(ann_file='data/hmdb51/hmdb51_train_split_2_videos.txt'))
val_dataloader = dict(
    dataset=dict(ann_file='data/hmdb51/hmdb51_val_split_2_videos.txt'))
test_dataloader = dict(
    dataset=dict(ann_file='data/hmdb51/hmdb51_val_split_2_videos.txt'))
