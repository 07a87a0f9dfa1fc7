// thresh's version, kept equal to package.json's by a test (JSON imports differ between runtimes).
export const version = '0.1.0'
