// The one place that decides which I/O errors are routine (peer went away,
// we cancelled, a timeout fired) and so are not worth a warning in the log.
#pragma once

#include <boost/system/error_code.hpp>

namespace gw::net {

bool is_expected(const boost::system::error_code& ec) noexcept;

}  // namespace gw::net
