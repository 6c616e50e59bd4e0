// snapvm.h: the umbrella header of the public API.
#pragma once

#include "snapvm/error.h"
#include "snapvm/host_functions.h"
#include "snapvm/layout.h"
#include "snapvm/result.h"
#include "snapvm/sandbox.h"
#include "snapvm/snapshot.h"
#include "snapvm/value.h"
#include "snapvm/vcpu_state.h"
