"""Every check of user input, in one place, one module per idea: arrays, scalar options,
activations, losses, the model (layers, nets, parameters), optimizers and schedules, and
training (fit, distributed, scikit-learn); the model file's schema is ``fastbp._schema``.

The compiled kernels trust what they are given (no bounds checks), so each
public entry point passes its arguments through these functions first.  A
message always names the argument, what was expected and what was given,
e.g. ``target: expected shape (32,), got (32, 10)``.  ValueError is for values
and shapes, TypeError for types.  Callers use the package's names
(``from fastbp import _validate as v``).
"""

from fastbp._validate.arrays import (as_float_array, as_index_array, check_allocation,
                                     check_blas_dims, check_ndim, check_same_shape, check_shape,
                                     FLOAT32, FLOAT64, float_dtype, MAX_DIM, PHYSICAL_MEMORY,
                                     shape_str)
from fastbp._validate.options import (choice, dtype_option, flag_option, non_negative_int,
                                      positive_int, real_number, reduction_code, REDUCTIONS,
                                      seed_option)
from fastbp._validate.activations import (ActivationSpec, activation_backward_args, activation_code,
                                          ACTIVATION_OPTIONS, activation_options, activation_spec,
                                          ACTIVATIONS, input_activation_backward_args,
                                          INPUT_ACTIVATIONS, kernel_choice,
                                          rowwise_activation_backward_args,
                                          rowwise_activation_input)
from fastbp._validate.losses import (class_index_rows, class_indices, class_loss_input,
                                     class_rows, class_target_shape, class_weight,
                                     class_weight_option, cross_entropy_args,
                                     elementwise_loss_args, ignore_index_option,
                                     label_smoothing_option, nll_loss_args, periodic_weight,
                                     unit_interval_values, weight_option)
from fastbp._validate.model import (layer_input, linear_args, linear_backward_args, net_layers,
                                    parameter_pairs, state_dict_arrays)
from fastbp._validate.optim import (ClipNormOptions, adagrad_options, adam_options,
                                    betas_option, clip_norm_options, flags, int_list,
                                    linear_lr_factors, non_negative_reals, optimizer_buffers,
                                    optimizer_state, plateau_factor, rmsprop_options,
                                    scheduled_optimizer, scheduler_state, sgd_options)
from fastbp._validate.training import (FitOptions, data_parallel_loss, fit_options, instance_of,
                                       mlp_parameters, optional_batch_size, rows_like,
                                       same_on_every_rank, validation_pair)
