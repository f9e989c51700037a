// Node entry point (ES module): the same functions as the CommonJS entry.
import api from './index.cjs';

export const {
  classify, shouldBounce, buildDsn, batvSign, batvVerify, srsForward, srsReverse, info, version, packageVersion,
} = api;
export default api;
