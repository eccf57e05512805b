/** The frontend's version; a test keeps it equal to package.json and the Python package. */
export const FRONTEND_VERSION = '0.1.0';
