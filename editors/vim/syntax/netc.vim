" Vim syntax file for netc specs (.net).
" Generated from netc's catalog by editors/gen_syntax.c (make syntax): do not edit.
if exists('b:current_syntax')
  finish
endif

syn keyword netcTodo contained TODO FIXME XXX
syn match netcComment "#.*$" contains=netcTodo
syn region netcString start=+"+ skip=+\\\\\|\\"+ end=+"+ oneline
syn match netcNumber "\<\d\+\(\.\d*\)\=\([eE][+-]\=\d\+\)\=\>"
syn match netcNumber "\.\d\+\([eE][+-]\=\d\+\)\=\>"
syn match netcArrow "->"
syn keyword netcKeyword model let input layers init loss optimizer train
syn keyword netcKeyword data schedule clip transform augment repeat
syn keyword netcConstant true false True False None inf
syn keyword netcLayer Identity ReLU Sigmoid Tanh LeakyReLU ELU SELU CELU
syn keyword netcLayer GELU Hardshrink Hardsigmoid Hardtanh Hardswish LogSigmoid ReLU6 SiLU
syn keyword netcLayer Mish Softplus Softshrink Softsign Tanhshrink Threshold Linear Dropout
syn keyword netcLayer Softmax LogSoftmax Flatten PReLU RReLU GLU Softmin AlphaDropout
syn keyword netcLayer Embedding Conv1d Conv2d ConvTranspose1d ConvTranspose2d MaxPool1d MaxPool2d AvgPool1d
syn keyword netcLayer AvgPool2d AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveMaxPool1d AdaptiveMaxPool2d BatchNorm1d BatchNorm2d Dropout1d
syn keyword netcLayer Dropout2d Softmax2d Unflatten
syn keyword netcLoss CrossEntropy MSE NLL L1 SmoothL1 Huber BCE BCEWithLogits
syn keyword netcLoss KLDiv
syn keyword netcOptimizer SGD Adam AdamW Adamax NAdam RAdam Adagrad Adadelta
syn keyword netcOptimizer RMSprop ASGD Rprop LBFGS SparseAdam
syn keyword netcInit default normal uniform constant zeros ones xavier_uniform xavier_normal
syn keyword netcInit kaiming_uniform kaiming_normal eye trunc_normal orthogonal lecun_normal lecun_uniform glorot_uniform
syn keyword netcInit glorot_normal he_uniform he_normal
syn keyword netcSchedule StepLR MultiStepLR ExponentialLR CosineAnnealingLR LinearLR ReduceLROnPlateau
syn keyword netcClip grad_norm grad_value
syn keyword netcFunction calculate_gain

hi def link netcKeyword Statement
hi def link netcConstant Boolean
hi def link netcLayer Type
hi def link netcLoss Function
hi def link netcOptimizer Function
hi def link netcInit Identifier
hi def link netcSchedule Function
hi def link netcClip Function
hi def link netcFunction Function
hi def link netcComment Comment
hi def link netcTodo Todo
hi def link netcString String
hi def link netcNumber Number
hi def link netcArrow Operator

let b:current_syntax = 'netc'
