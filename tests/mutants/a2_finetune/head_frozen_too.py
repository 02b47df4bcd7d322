"""train_model freezes after replacing the head, so the new head is frozen too.

The optimizer then gets no parameter at all and the student's own training run stops with
"optimizer got an empty parameter list": no a2_finetune_model.pt is saved. The checks that read
that file must say that the training cell stopped with that error (it is in the submitted
notebook), not send the student to run a cell they did run.
"""

CELLS = {"train_model": '''\
def train_model(profile, device):
    backbone = pretrained.load_backbone(BACKBONE)
    model = freeze_features(replace_head(backbone.model, len(TARGET_CLASSES)), "")
    train_loader, val_loader = cifar10_loaders(profile, augment=True, device=device, classes=TARGET_CLASSES)
    optimizer = torch.optim.SGD(trainable_parameters(model), lr=0.05, momentum=0.9, weight_decay=5e-4)
    history = fit(model, train_loader, val_loader, epochs=profile.epochs, optimizer=optimizer, device=device)
    return model, history
'''}

LOSES = {"test_frozen_weights_unchanged", "test_batchnorm_statistics_unchanged", "test_accuracy"}
FEEDBACK = "ValueError: optimizer got an empty parameter list (cell run_training)"
