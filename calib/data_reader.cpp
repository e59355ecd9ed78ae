// Placeholder until the data reader lands.
#include "calib/data_reader.h"
